// SPDX-License-Identifier: Apache-2.0
// Fire stage: compares membranes with thresholds, ORs 2x2 pools and residuals, writes spikes back.

`default_nettype none

module spike_fire #(
  parameter int Lanes = 8,   // output channels per membrane word, >= 1
  parameter int AccW  = 16,  // signed accumulator bits, 12 .. 32
  parameter int MaxH  = 16,  // largest map height, 2 .. 32
  parameter int MaxW  = 16,  // largest map width, 2 .. 32
  localparam int YW = $clog2(MaxH),
  localparam int XW = $clog2(MaxW),
  localparam int PosW = YW + XW,
  localparam int QYW = ((MaxH + 2) / 3 > 1) ? $clog2((MaxH + 2) / 3) : 1,
  localparam int QXW = ((MaxW + 2) / 3 > 1) ? $clog2((MaxW + 2) / 3) : 1,
  localparam int BAW = QYW + QXW,
  localparam int LW = Lanes * AccW
) (
  input  wire logic             clk_i,
  input  wire logic             rst_i,         // synchronous, active high
  // Pass control and layer state (held while busy)
  input  wire logic             start_i,       // one pulse starts a pass over the output map
  input  wire logic             pool_i,        // 2x2 max pooling as OR
  input  wire logic             residual_i,    // OR with the word already in the output map
  input  wire logic [5:0]       out_h_i,       // conv output height (before pooling)
  input  wire logic [5:0]       out_w_i,
  input  wire logic [Lanes-1:0] lane_valid_i,  // lanes that hold a real output channel
  input  wire logic [LW-1:0]    thr_i,         // per-lane signed thresholds
  output logic                  busy_o,
  output logic                  done_o,        // pulse in the cycle of the final write
  // Membrane port: read (data one cycle later) and clear after reading
  output logic                  mrd_en_o,
  output logic      [3:0]       mrd_bank_o,
  output logic      [BAW-1:0]   mrd_addr_o,
  input  wire logic [LW-1:0]    mrd_data_i,
  output logic                  mclr_en_o,
  output logic      [3:0]       mclr_bank_o,
  output logic      [BAW-1:0]   mclr_addr_o,
  // Output spike map port (this group's lane slice): read for the residual, then write
  output logic                  ord_en_o,
  output logic      [PosW-1:0]  ord_addr_o,
  input  wire logic [Lanes-1:0] ord_data_i,
  output logic                  owr_en_o,
  output logic      [PosW-1:0]  owr_addr_o,
  output logic      [Lanes-1:0] owr_data_o
);

  function automatic logic [4:0] div3(input logic [5:0] v);
    logic [4:0] q;
    q = '0;
    for (int i = 1; i < 22; i++) begin
      if (v >= 6'($unsigned(3 * i))) q = 5'($unsigned(i));
    end
    return q;
  endfunction

  // Stage 0 walks the output windows (2x2 with pooling, else single positions) in raster order,
  // their members in raster order too, and reads each membrane word.
  logic       active_q;
  logic [5:0] wy_q, wx_q;
  logic [1:0] sub_q;
  logic [5:0] win_h, win_w, oy, ox;
  logic [4:0] qy, qx;
  logic       sub_valid, last_sub, in_range, final_step;

  assign win_h = pool_i ? ((out_h_i + 6'd1) >> 1) : out_h_i;
  assign win_w = pool_i ? ((out_w_i + 6'd1) >> 1) : out_w_i;
  assign oy = pool_i ? {wy_q[4:0], sub_q[1]} : wy_q;
  assign ox = pool_i ? {wx_q[4:0], sub_q[0]} : wx_q;
  assign sub_valid  = (oy < out_h_i) & (ox < out_w_i);
  assign last_sub   = ~pool_i | (sub_q == 2'd3);
  assign in_range   = ~pool_i | ((wy_q < (out_h_i >> 1)) & (wx_q < (out_w_i >> 1)));
  assign final_step = last_sub & (wy_q == win_h - 6'd1) & (wx_q == win_w - 6'd1);
  assign qy = div3(oy);
  assign qx = div3(ox);

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      active_q <= 1'b0;
    end else if (start_i) begin
      active_q <= 1'b1;
    end else if (active_q && final_step) begin
      active_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (start_i) begin
      wy_q  <= '0;
      wx_q  <= '0;
      sub_q <= '0;
    end else if (active_q) begin
      if (!last_sub) begin
        sub_q <= sub_q + 2'd1;
      end else begin
        sub_q <= '0;
        if (wx_q == win_w - 6'd1) begin
          wx_q <= '0;
          wy_q <= wy_q + 6'd1;
        end else begin
          wx_q <= wx_q + 6'd1;
        end
      end
    end
  end

  assign mrd_en_o   = active_q & sub_valid;
  // Bank (y mod 3) * 3 + (x mod 3), with adders only.
  logic [1:0] ry, rx;
  assign ry = 2'(oy - ({1'b0, qy} + {qy, 1'b0}));
  assign rx = 2'(ox - ({1'b0, qx} + {qx, 1'b0}));
  assign mrd_bank_o = {1'b0, ry, 1'b0} + {2'b00, ry} + {2'b00, rx};
  assign mrd_addr_o = {qy[QYW-1:0], qx[QXW-1:0]};
  assign ord_en_o   = active_q;
  assign ord_addr_o = {wy_q[YW-1:0], wx_q[XW-1:0]};

  // Stage 1: compare, OR into the window, write the window's word on its last member.
  logic             f1_valid_q, f1_sub_valid_q, f1_last_q, f1_write_q, f1_final_q;
  logic [3:0]       f1_bank_q;
  logic [BAW-1:0]   f1_addr_q;
  logic [PosW-1:0]  f1_oaddr_q;
  logic [Lanes-1:0] pool_q, spikes, window;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      f1_valid_q <= 1'b0;
      pool_q     <= '0;
    end else begin
      f1_valid_q <= active_q;
      if (f1_valid_q) pool_q <= f1_last_q ? '0 : window;
    end
  end

  always_ff @(posedge clk_i) begin
    f1_sub_valid_q <= sub_valid;
    f1_last_q      <= last_sub;
    f1_write_q     <= in_range;
    f1_final_q     <= final_step;
    f1_bank_q      <= mrd_bank_o;
    f1_addr_q      <= mrd_addr_o;
    f1_oaddr_q     <= ord_addr_o;
  end

  always_comb begin
    for (int l = 0; l < Lanes; l++) begin
      spikes[l] = f1_sub_valid_q & lane_valid_i[l]
                & ($signed(mrd_data_i[l*AccW +: AccW]) >= $signed(thr_i[l*AccW +: AccW]));
    end
  end

  assign window      = pool_q | spikes;
  assign owr_en_o    = f1_valid_q & f1_last_q & f1_write_q;
  assign owr_addr_o  = f1_oaddr_q;
  assign owr_data_o  = window | (residual_i ? ord_data_i : '0);
  assign mclr_en_o   = f1_valid_q & f1_sub_valid_q;
  assign mclr_bank_o = f1_bank_q;
  assign mclr_addr_o = f1_addr_q;
  assign busy_o      = active_q | f1_valid_q;
  assign done_o      = f1_valid_q & f1_final_q;

`ifndef SYNTHESIS
  always @(posedge clk_i) begin
    if (!rst_i && start_i) begin
      assert (!busy_o) else $fatal(1, "spike_fire: start while busy");
      assert (out_h_i != '0 && out_w_i != '0) else $fatal(1, "spike_fire: empty output map");
    end
  end
`endif

endmodule : spike_fire

`default_nettype wire
