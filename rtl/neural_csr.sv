// SPDX-License-Identifier: Apache-2.0
// AXI4-Lite control and status registers of the core (map in docs/architecture.md).

`default_nettype none

module neural_csr #(
  parameter int Caps = 0  // value of the CAPS register
) (
  input  wire logic        clk_i,
  input  wire logic        rst_i,
  // AXI4-Lite slave
  input  wire logic [11:0] s_axil_awaddr,
  input  wire logic [2:0]  s_axil_awprot,
  input  wire logic        s_axil_awvalid,
  output logic             s_axil_awready,
  input  wire logic [31:0] s_axil_wdata,
  input  wire logic [3:0]  s_axil_wstrb,
  input  wire logic        s_axil_wvalid,
  output logic             s_axil_wready,
  output logic      [1:0]  s_axil_bresp,
  output logic             s_axil_bvalid,
  input  wire logic        s_axil_bready,
  // Byte-offset address bits and the privileged/secure prot bits carry no meaning here.
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire logic [11:0] s_axil_araddr,
  input  wire logic [2:0]  s_axil_arprot,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire logic        s_axil_arvalid,
  output logic             s_axil_arready,
  output logic      [31:0] s_axil_rdata,
  output logic      [1:0]  s_axil_rresp,
  output logic             s_axil_rvalid,
  input  wire logic        s_axil_rready,
  // Control pulses and settings
  output logic             start_o,       // CTRL.START written
  output logic             clear_o,       // CTRL.CLEAR written
  output logic             irq_en_o,
  output logic      [31:12] ext_base_o,   // EXT_BASE: external weight memory base (4 KiB units)
  // Status and counters from the core
  input  wire logic        busy_i,
  input  wire logic        done_i,
  input  wire logic        error_i,
  input  wire logic [3:0]  err_code_i,
  input  wire logic [31:0] cycles_i,
  input  wire logic [31:0] events_i,
  input  wire logic [31:0] active_i,
  input  wire logic [31:0] stalls_i,
  input  wire logic [31:0] class_i,
  input  wire logic [31:0] fwd_i
);

  localparam logic [31:0] Id = 32'h4E52_4C31;
  localparam logic [31:0] Version = 32'h0001_0001;
  localparam logic [31:0] CapsU = Caps;

  // A write completes when both address and data have arrived; each is held until then.
  logic        aw_q, w_q;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [11:0] awaddr_q;
  logic [31:0] wdata_q;
  logic [3:0]  wstrb_q;
  logic [2:0]  awprot_q;
  /* verilator lint_on UNUSEDSIGNAL */
  logic        do_write;

  assign s_axil_awready = ~aw_q & ~s_axil_bvalid;
  assign s_axil_wready  = ~w_q & ~s_axil_bvalid;
  // Only data accesses are served; an instruction fetch (prot[2]) gets SLVERR.
  assign s_axil_bresp   = awprot_q[2] ? 2'b10 : 2'b00;
  assign do_write = aw_q & w_q & ~s_axil_bvalid;

  always_ff @(posedge clk_i) begin
    start_o <= 1'b0;
    clear_o <= 1'b0;
    if (rst_i) begin
      aw_q          <= 1'b0;
      w_q           <= 1'b0;
      s_axil_bvalid <= 1'b0;
      irq_en_o      <= 1'b0;
      ext_base_o    <= '0;
    end else begin
      if (s_axil_awvalid && s_axil_awready) begin
        aw_q     <= 1'b1;
        awaddr_q <= s_axil_awaddr;
        awprot_q <= s_axil_awprot;
      end
      if (s_axil_wvalid && s_axil_wready) begin
        w_q     <= 1'b1;
        wdata_q <= s_axil_wdata;
        wstrb_q <= s_axil_wstrb;
      end
      if (do_write) begin
        aw_q          <= 1'b0;
        w_q           <= 1'b0;
        s_axil_bvalid <= 1'b1;
        // CTRL lives in byte 0; writes elsewhere are ignored.
        if (awaddr_q[11:2] == 10'h002 && wstrb_q[0] && !awprot_q[2]) begin
          start_o  <= wdata_q[0];
          clear_o  <= wdata_q[1];
          irq_en_o <= wdata_q[2];
        end
        if (awaddr_q[11:2] == 10'h006 && !awprot_q[2]) begin
          // 4 KiB aligned: bits [11:0] read as zero.
          if (wstrb_q[1]) ext_base_o[15:12] <= wdata_q[15:12];
          if (wstrb_q[2]) ext_base_o[23:16] <= wdata_q[23:16];
          if (wstrb_q[3]) ext_base_o[31:24] <= wdata_q[31:24];
        end
      end else if (s_axil_bvalid && s_axil_bready) begin
        s_axil_bvalid <= 1'b0;
      end
    end
  end

  logic [31:0] rdata;
  always_comb begin
    case (s_axil_araddr[11:2])
      10'h000: rdata = Id;
      10'h001: rdata = Version;
      10'h003: rdata = {29'd0, error_i, done_i, busy_i};
      10'h004: rdata = {28'd0, err_code_i};
      10'h005: rdata = CapsU;
      10'h006: rdata = {ext_base_o, 12'd0};
      10'h008: rdata = cycles_i;
      10'h009: rdata = events_i;
      10'h00A: rdata = active_i;
      10'h00B: rdata = stalls_i;
      10'h00C: rdata = class_i;
      10'h00D: rdata = fwd_i;
      default: rdata = '0;
    endcase
  end

  assign s_axil_arready = ~s_axil_rvalid;
  logic rresp_err_q;
  assign s_axil_rresp   = rresp_err_q ? 2'b10 : 2'b00;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      s_axil_rvalid <= 1'b0;
    end else if (s_axil_arvalid && s_axil_arready) begin
      s_axil_rvalid <= 1'b1;
      s_axil_rdata  <= s_axil_arprot[2] ? 32'd0 : rdata;
      rresp_err_q   <= s_axil_arprot[2];
    end else if (s_axil_rready) begin
      s_axil_rvalid <= 1'b0;
    end
  end


endmodule : neural_csr

`default_nettype wire
